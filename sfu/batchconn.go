package sfu

import (
	"net"
	"sync"
	"sync/atomic"

	"golang.org/x/net/ipv4"
)

// Outbound batching. The media socket sends what one mixer tick or one
// video fan-out writes in sendmmsg(2) batches flushed when that tick or
// fan-out ends, not one sendto(2) per packet, and with no timer: nothing
// waits longer than the work that produced it. Everything between Begin
// and End (and any other writer meanwhile: DTLS, RTCP) is queued; the End
// that closes the last open batch sends the queue. Outside batches a write
// goes straight to the socket.
const (
	maxBatch        = 64   // messages per sendmmsg call; a full queue is sent at once
	maxBatchedBytes = 1500 // larger datagrams (none in practice) skip the queue
)

// batchConn wraps the media socket that pion's UDP mux writes to. Reads
// pass through untouched.
type batchConn struct {
	net.PacketConn
	sender *ipv4.PacketConn // sendmmsg; nil where the socket has none (then one write per packet)

	mu   sync.Mutex // guards open, msgs and the slab; held while a batch is sent, to keep order
	open int        // batches begun and not ended
	msgs []ipv4.Message
	slab []byte // maxBatch × maxBatchedBytes: the queued datagrams' copies

	batches, batched, sendErrors atomic.Uint64
}

func newBatchConn(c net.PacketConn) *batchConn {
	b := &batchConn{
		PacketConn: c,
		msgs:       make([]ipv4.Message, 0, maxBatch),
		slab:       make([]byte, maxBatch*maxBatchedBytes),
	}
	if _, ok := c.(*net.UDPConn); ok {
		b.sender = ipv4.NewPacketConn(c)
	}
	for range maxBatch {
		b.msgs = append(b.msgs, ipv4.Message{Buffers: make([][]byte, 1)})
	}
	b.msgs = b.msgs[:0]
	return b
}

// Begin opens a batch: writes queue until the matching End.
func (b *batchConn) Begin() {
	if b.sender == nil {
		return
	}
	b.mu.Lock()
	b.open++
	b.mu.Unlock()
}

// End closes a batch; the last one open sends the queue.
func (b *batchConn) End() {
	if b.sender == nil {
		return
	}
	b.mu.Lock()
	if b.open--; b.open == 0 {
		b.flushLocked()
	}
	b.mu.Unlock()
}

// WriteTo queues p for addr while a batch is open, else sends it now.
func (b *batchConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if b.sender == nil {
		return b.PacketConn.WriteTo(p, addr)
	}
	b.mu.Lock()
	if b.open == 0 || len(p) > maxBatchedBytes {
		b.flushLocked() // keep order behind anything queued
		b.mu.Unlock()
		return b.PacketConn.WriteTo(p, addr)
	}
	if len(b.msgs) == maxBatch {
		b.flushLocked()
	}
	i := len(b.msgs)
	buf := b.slab[i*maxBatchedBytes : i*maxBatchedBytes+len(p)]
	copy(buf, p)
	b.msgs = b.msgs[:i+1]
	b.msgs[i].Buffers[0] = buf
	b.msgs[i].Addr = addr
	b.mu.Unlock()
	return len(p), nil
}

// flushLocked sends the queue in sendmmsg calls. A datagram the kernel
// refuses (an unreachable or filtered destination) is counted and skipped;
// the rest still go.
func (b *batchConn) flushLocked() {
	for sent := 0; sent < len(b.msgs); {
		n, err := b.sender.WriteBatch(b.msgs[sent:], 0)
		b.batches.Add(1)
		if n > 0 {
			b.batched.Add(uint64(n))
			sent += n
		}
		if err != nil && n <= 0 {
			b.sendErrors.Add(1)
			sent++
		}
	}
	for i := range b.msgs {
		b.msgs[i].Addr = nil
	}
	b.msgs = b.msgs[:0]
}
