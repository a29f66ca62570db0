package turn

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/logging"
)

// pionLogs adapts pion/turn's logger to slog. pion's trace and debug lines
// (several per relayed datagram) are dropped; info becomes debug; warnings
// and errors, which pion may log per datagram (a failing write), pass a
// limiter.
type pionLogs struct {
	log   *slog.Logger
	limit *logLimiter
}

func (f pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{log: f.log.With("pion", scope), limit: f.limit}
}

type pionLogger struct {
	log   *slog.Logger
	limit *logLimiter
}

func (pionLogger) Trace(string)          {}
func (pionLogger) Tracef(string, ...any) {}
func (pionLogger) Debug(string)          {}
func (pionLogger) Debugf(string, ...any) {}

func (l pionLogger) Info(msg string)              { l.emit(slog.LevelDebug, msg) }
func (l pionLogger) Infof(f string, args ...any)  { l.emitf(slog.LevelDebug, f, args) }
func (l pionLogger) Warn(msg string)              { l.emit(slog.LevelWarn, msg) }
func (l pionLogger) Warnf(f string, args ...any)  { l.emitf(slog.LevelWarn, f, args) }
func (l pionLogger) Error(msg string)             { l.emit(slog.LevelWarn, msg) }
func (l pionLogger) Errorf(f string, args ...any) { l.emitf(slog.LevelWarn, f, args) }

func (l pionLogger) emit(level slog.Level, msg string) {
	if l.log.Enabled(context.Background(), level) && l.limit.allow() {
		l.log.Log(context.Background(), level, msg)
	}
}

func (l pionLogger) emitf(level slog.Level, format string, args []any) {
	if l.log.Enabled(context.Background(), level) && l.limit.allow() {
		l.log.Log(context.Background(), level, fmt.Sprintf(format, args...))
	}
}

// logLimiter lets through at most burst lines per second.
type logLimiter struct {
	now   func() time.Time
	burst int

	mu     sync.Mutex // guards window and n
	window time.Time
	n      int
}

func (l *logLimiter) allow() bool {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.window) >= time.Second {
		l.window, l.n = now, 0
	}
	l.n++
	return l.n <= l.burst
}
