/*
 * kcat-out: placeholder until its issue lands; it states so and fails, so that
 * no pipeline mistakes it for a working stage.
 */
#include "diag.h"

int
main(int argc, char **argv)
{
	return diag_placeholder(argc, argv);
}
