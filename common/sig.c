/*
 * sig: signal flag (see sig.h).
 */
#include "sig.h"

#include <string.h>
#include <unistd.h>

volatile sig_atomic_t sig_stop = 0;

static void
on_signal(int sig)
{
	if (sig_stop)
		_exit(128 + sig);
	sig_stop = sig;
}

void
sig_install(int ignore_pipe)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (ignore_pipe)
		signal(SIGPIPE, SIG_IGN);
}
