package sfu

import (
	"strings"

	"github.com/pion/webrtc/v4"
)

// keepCamera rewrites a re-offer's camera line (the first video m-line)
// from a=inactive to a=recvonly when the PeerConnection already has that
// line's transceiver and is receiving on it or idle.
//
// Why: pion 4 stops the transceiver of an existing m-line that a re-offer
// marks inactive, and a stopped transceiver's receiver stays closed when a
// later offer turns the line back to sendrecv: the camera's first packets
// then fail pion's simulcast probe with EOF ("Incoming unhandled RTP ssrc
// … OnTrack will not be fired") and the camera is never read. The stock
// SDK offers the camera line inactive until the camera starts, and again
// whenever it stops, so an attendee who subscribes to others' video before
// starting their own camera (or restarts it) lost their camera for good.
//
// For the server a recvonly offer on that line means the same as inactive
// (the SFU sends nothing on the camera line): pion leaves our transceiver
// inactive (or turns a receiving one inactive), answers a=inactive as the
// offer asked, and swaps in a fresh receiver, which the next sendrecv offer
// configures for the camera's layers.
func keepCamera(offer string, pc *webrtc.PeerConnection) string {
	mid, dirAt, lines := cameraLine(offer)
	if dirAt < 0 || mid == "" {
		return offer
	}
	keep := false
	for _, t := range pc.GetTransceivers() {
		if t.Mid() != mid || t.Kind() != webrtc.RTPCodecTypeVideo {
			continue
		}
		d := t.Direction()
		keep = d == webrtc.RTPTransceiverDirectionInactive || d == webrtc.RTPTransceiverDirectionRecvonly
		break
	}
	if !keep {
		return offer
	}
	lines[dirAt] = strings.Replace(lines[dirAt], "a=inactive", "a=recvonly", 1)
	return strings.Join(lines, "\n")
}

// cameraLine splits offer into lines and finds the first video m-section:
// its mid and the index of its a=inactive line (-1 when it has none, or the
// line is rejected with port 0).
func cameraLine(offer string) (mid string, dirAt int, lines []string) {
	lines = strings.Split(offer, "\n")
	dirAt = -1
	in := false
	for i, l := range lines {
		t := strings.TrimRight(l, "\r")
		if strings.HasPrefix(t, "m=") {
			if in {
				break // past the camera section
			}
			in = strings.HasPrefix(t, "m=video ") && !strings.HasPrefix(t, "m=video 0 ")
			continue
		}
		if !in {
			continue
		}
		switch {
		case strings.HasPrefix(t, "a=mid:"):
			mid = strings.TrimPrefix(t, "a=mid:")
		case t == "a=inactive":
			dirAt = i
		}
	}
	return mid, dirAt, lines
}
