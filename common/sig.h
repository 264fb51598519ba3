/*
 * sig: SIGINT/SIGTERM as a flag the main loop checks.
 *
 * The handler only sets sig_stop (installed without SA_RESTART, so a blocked
 * read returns EINTR and the loop sees the flag); the loop finishes the record
 * in hand, flushes and cleans up. A second signal exits at once with 128+sig.
 */
#ifndef SIG_H
#define SIG_H

#include <signal.h>

extern volatile sig_atomic_t sig_stop; /* the signal number received, or 0 */

/* ignore_pipe: programs that hold outside state ignore SIGPIPE and handle EPIPE. */
void sig_install(int ignore_pipe);

#endif
