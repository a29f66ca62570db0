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
	d := e.Detail
	attrs := []slog.Attr{
		slog.String("type", string(d.EventType)),
		slog.String("id", e.ID),
		slog.String("meeting", d.MeetingID),
		slog.String("external_meeting", d.ExternalMeetingID),
		slog.String("region", d.MediaRegion),
	}
	if d.AttendeeID != "" {
		attrs = append(attrs, slog.String("attendee", d.AttendeeID), slog.String("external_user", d.ExternalUserID))
	}
	if d.NetworkType != "" {
		attrs = append(attrs, slog.String("network", d.NetworkType))
	}
	if c := d.AttendeeCapabilities; c != nil {
		attrs = append(attrs, slog.Group("capabilities", "audio", c.Audio, "video", c.Video, "content", c.Content))
	}
	s.Log.LogAttrs(ctx, slog.LevelInfo, "meeting event", attrs...)
}
