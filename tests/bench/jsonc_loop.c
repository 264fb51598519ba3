/*
 * The parsing ceiling for the bench: read NDJSON with getline and parse every
 * line with json-c, nothing else. Prints the number of objects parsed.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>

int
main(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long long objs = 0;
	struct json_tokener *tok = json_tokener_new();

	while ((n = getline(&line, &cap, stdin)) > 0) {
		struct json_object *o = json_tokener_parse_ex(tok, line, (int)n);
		if (o && json_object_get_type(o) == json_type_object)
			objs++;
		json_object_put(o);
		json_tokener_reset(tok);
	}
	json_tokener_free(tok);
	free(line);
	printf("%lld\n", objs);
	return 0;
}
