package attendee

import (
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/confab-media/confab/signaling/protocol"
)

// maxPauses bounds the server PAUSE/RESUME frames kept.
const maxPauses = 256

// PauseResume is one PAUSE or RESUME frame the server sent (it pauses a
// forwarded video that no longer fits the downlink, by group id).
type PauseResume struct {
	Resume    bool // RESUME; PAUSE otherwise
	StreamIDs []uint32
	GroupIDs  []uint32
	Received  time.Time
}

// observeVideo keeps the video signaling state: the last INDEX, the last
// BITRATES and the PAUSE/RESUME frames. It runs on the reader goroutine.
func (a *Attendee) observeVideo(fr *protocol.SdkSignalFrame) {
	a.sigMu.Lock()
	defer a.sigMu.Unlock()
	switch fr.GetType() {
	case protocol.SdkSignalFrame_INDEX:
		if fr.GetIndex() != nil {
			a.index = fr.GetIndex()
		}
	case protocol.SdkSignalFrame_BITRATES:
		if fr.GetBitrates() != nil {
			a.bitrates = fr.GetBitrates()
			a.nBitrates++
		}
	case protocol.SdkSignalFrame_PAUSE, protocol.SdkSignalFrame_RESUME:
		if len(a.pauses) == maxPauses {
			a.pauses = append(a.pauses[:0], a.pauses[1:]...)
		}
		a.pauses = append(a.pauses, PauseResume{
			Resume:    fr.GetType() == protocol.SdkSignalFrame_RESUME,
			StreamIDs: fr.GetPause().GetStreamIds(), GroupIDs: fr.GetPause().GetGroupIds(),
			Received: time.Now(),
		})
	}
}

// Index returns a copy of the last INDEX frame received (the video
// sources available), nil before the first.
func (a *Attendee) Index() *protocol.SdkIndexFrame {
	a.sigMu.Lock()
	defer a.sigMu.Unlock()
	if a.index == nil {
		return nil
	}
	return proto.Clone(a.index).(*protocol.SdkIndexFrame)
}

// Bitrates returns a copy of the last BITRATES frame received (nil before
// the first) and how many arrived.
func (a *Attendee) Bitrates() (*protocol.SdkBitrateFrame, int) {
	a.sigMu.Lock()
	defer a.sigMu.Unlock()
	if a.bitrates == nil {
		return nil, a.nBitrates
	}
	return proto.Clone(a.bitrates).(*protocol.SdkBitrateFrame), a.nBitrates
}

// ServerPauses returns the PAUSE and RESUME frames the server sent (the
// last 256), oldest first.
func (a *Attendee) ServerPauses() []PauseResume {
	a.sigMu.Lock()
	defer a.sigMu.Unlock()
	return slices.Clone(a.pauses)
}
