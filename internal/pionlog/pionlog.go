// Package pionlog routes pion's logs (pion/webrtc, ice, dtls, turn) into
// the process's slog logger, so they share its format (JSON with
// log.format: json) and cannot flood it: pion's trace and debug lines
// (several per packet) are dropped, info becomes debug, and warnings and
// errors (which pion may log per packet) pass a per-factory limiter.
package pionlog

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/pion/logging"

	"github.com/confab-media/confab/internal/guard"
)

// Factory is a pion logging.LoggerFactory writing to a slog.Logger.
type Factory struct {
	log   *slog.Logger
	limit *guard.LogLimiter
}

// NewFactory returns a Factory letting at most burst warning/error lines
// a second through (now is the clock of that window).
func NewFactory(log *slog.Logger, burst int, now func() time.Time) Factory {
	return Factory{log: log, limit: guard.NewLogLimiter(burst, now)}
}

// NewLogger implements logging.LoggerFactory.
func (f Factory) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{log: f.log.With("pion", scope), limit: f.limit}
}

type pionLogger struct {
	log   *slog.Logger
	limit *guard.LogLimiter
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
	if l.log.Enabled(context.Background(), level) && l.limit.Allow() {
		l.log.Log(context.Background(), level, msg)
	}
}

func (l pionLogger) emitf(level slog.Level, format string, args []any) {
	if l.log.Enabled(context.Background(), level) && l.limit.Allow() {
		l.log.Log(context.Background(), level, fmt.Sprintf(format, args...))
	}
}
