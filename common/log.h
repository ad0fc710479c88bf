/*
 * log — structured log lines on stderr, one event per line:
 *   2026-11-22T13:20:01Z level=info comp=node event=serve_start addr=127.0.0.1:7001
 * Never pass personal data, identifiers, names or tokens to these functions.
 */
#ifndef CASELINK_LOG_H
#define CASELINK_LOG_H

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

/* Sets the component name printed as comp=... and the lowest level printed. */
void log_init(const char *component, enum log_level min_level);

/*
 * Prints one line: timestamp, level, component, event name, then the
 * caller's key=value text formatted from fmt (may be NULL). Thread-safe.
 */
void log_event(enum log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
