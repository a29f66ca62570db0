package session

import (
	"context"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/confab-media/confab/internal/guard"
	"github.com/confab-media/confab/signaling/protocol"
)

// reject closes a connection that may not join, with code. The SDK reads a
// close code during join only once its join task listens, which it does
// just before it sends JOIN; so wait for the JOIN (or RejectDelay, or
// Handler.Close) before closing.
func (h *Handler) reject(c *websocket.Conn, code websocket.StatusCode, reason string) {
	joined := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer guard.Recover(h.p.Log, h.p.Panics, "signaling refused-connection reader", func(any) { _ = c.CloseNow() })
		var once sync.Once
		for {
			ctx, cancel := context.WithTimeout(context.Background(), h.cfg.RejectDelay+h.cfg.WriteTimeout)
			typ, b, err := c.Read(ctx)
			cancel()
			if err != nil {
				return
			}
			if typ != websocket.MessageBinary {
				continue
			}
			if f, err := protocol.Decode(b); err == nil && f.GetType() == protocol.SdkSignalFrame_JOIN {
				once.Do(func() { close(joined) })
			}
		}
	}()
	t := time.NewTimer(h.cfg.RejectDelay)
	defer t.Stop()
	select {
	case <-joined:
	case <-t.C:
	case <-h.done:
	case <-readerDone:
	}
	_ = c.Close(code, reason)
	<-readerDone
}
