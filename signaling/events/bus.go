package events

import (
	"context"
	"log/slog"
	"sync"
)

// Sink receives every published event. Deliver must not block for long: a
// sink that talks to a slow remote keeps its own queue (the outbox).
type Sink interface {
	Deliver(ctx context.Context, e Event)
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(ctx context.Context, e Event)

// Deliver calls f.
func (f SinkFunc) Deliver(ctx context.Context, e Event) { f(ctx, e) }

// Bus fans events out to its sinks, synchronously and in publication order.
// It is safe for concurrent use; the sink list is copy-on-write so Publish
// takes the lock only to read the current slice.
type Bus struct {
	mu    sync.Mutex // guards sinks (the slice is never mutated in place)
	sinks []Sink
}

// NewBus returns a bus delivering to the given sinks.
func NewBus(sinks ...Sink) *Bus {
	return &Bus{sinks: append([]Sink(nil), sinks...)}
}

// Subscribe adds a sink; it receives events published after the call.
func (b *Bus) Subscribe(s Sink) {
	b.mu.Lock()
	defer b.mu.Unlock()
	next := make([]Sink, 0, len(b.sinks)+1)
	b.sinks = append(append(next, b.sinks...), s)
}

// Publish hands e to every sink.
func (b *Bus) Publish(ctx context.Context, e Event) {
	b.mu.Lock()
	sinks := b.sinks
	b.mu.Unlock()
	for _, s := range sinks {
		s.Deliver(ctx, e)
	}
}

// LogSink writes every event to the structured log at Info level, with the
// fields an operator greps for and the full JSON.
type LogSink struct{ Log *slog.Logger }

// Deliver logs e.
func (s LogSink) Deliver(ctx context.Context, e Event) {
	s.Log.LogAttrs(ctx, slog.LevelInfo, "meeting event",
		slog.String("type", string(e.Detail.EventType)),
		slog.String("meeting", e.Detail.MeetingID),
		slog.String("attendee", e.Detail.AttendeeID),
		slog.String("event", string(e.JSON())))
}
