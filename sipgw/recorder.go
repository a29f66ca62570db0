package sipgw

import (
	"sync"
	"time"

	"gopkg.in/hraban/opus.v2"
)

// callRecorder keeps an app call's incoming audio while a RecordAudio runs:
// 8 kHz PCM, as G.711 callers push it, or decoded from an Opus caller's
// frames at 8 kHz (a decoder made on first use; no decoding while not
// recording). The media reader adds, the application's goroutine starts
// and stops it.
type callRecorder struct {
	mu   sync.Mutex
	on   bool
	max  int // samples
	pcm  []int16
	dec  *opus.Decoder
	opus [960]int16 // one decoded 20 ms Opus frame at 8 kHz (at most 120 ms)
}

func (r *callRecorder) start(max time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.on, r.max, r.pcm = true, int(max/time.Millisecond)*8, r.pcm[:0]
	return nil
}

func (r *callRecorder) stop() []int16 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.on = false
	out := r.pcm
	r.pcm = nil
	return out
}

// addPCM keeps 8 kHz samples.
func (r *callRecorder) addPCM(pcm []int16) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.on {
		r.pcm = append(r.pcm, pcm[:min(len(pcm), r.max-len(r.pcm))]...)
	}
}

// addOpus decodes an Opus frame at 8 kHz and keeps it.
func (r *callRecorder) addOpus(frame []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.on {
		return
	}
	if r.dec == nil {
		dec, err := opus.NewDecoder(8000, 1)
		if err != nil {
			return
		}
		r.dec = dec
	}
	n, err := r.dec.Decode(frame, r.opus[:])
	if err != nil {
		return
	}
	r.pcm = append(r.pcm, r.opus[:min(n, r.max-len(r.pcm))]...)
}
