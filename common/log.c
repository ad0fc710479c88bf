#include "common/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static const char *log_component = "caselink";
static enum log_level log_min_level = LOG_LEVEL_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void log_init(const char *component, enum log_level min_level)
{
	if (component)
		log_component = component;
	log_min_level = min_level;
}

void log_event(enum log_level level, const char *event, const char *fmt, ...)
{
	static const char *names[] = {"debug", "info", "warn", "error"};
	char ts[32];
	struct timespec now;
	struct tm tm;
	va_list ap;

	if (level < log_min_level)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);

	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "%s level=%s comp=%s event=%s", ts, names[level], log_component,
		event ? event : "-");
	if (fmt) {
		fputc(' ', stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
	}
	fputc('\n', stderr);
	fflush(stderr);
	pthread_mutex_unlock(&log_lock);
}
