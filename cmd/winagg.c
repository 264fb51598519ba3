/*
 * winagg: placeholder until its issue lands; it states so and fails, so that no
 * pipeline mistakes it for a working stage.
 */
#include <stdio.h>
#include <string.h>

#include "diag.h"

int
main(int argc, char **argv)
{
	diag_init(argv[0]);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0) {
			diag_version();
			return DIAG_EX_OK;
		}
	}
	diag_error("not implemented yet in ordpipe %s", ORDPIPE_VERSION);
	return DIAG_EX_FAIL;
}
