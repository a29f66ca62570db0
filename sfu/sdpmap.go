package sfu

import (
	"fmt"
	"strings"

	"github.com/pion/sdp/v3"
)

// videoLine is one video m-line of an offer.
type videoLine struct {
	mid       string
	direction string // sendrecv, sendonly, recvonly or inactive
	codecs    map[string]bool
}

// sends reports whether the offerer sends on the line.
func (l videoLine) sends() bool { return l.direction == "sendrecv" || l.direction == "sendonly" }

// receives reports whether the offerer wants to receive on the line.
func (l videoLine) receives() bool { return l.direction == "sendrecv" || l.direction == "recvonly" }

// videoLines returns the offer's video m-lines in SDP order: the SDK's
// receive_stream_ids has one entry per line, the camera first (fact sheet
// §6). A rejected line (port 0) counts as inactive.
func videoLines(offer string) ([]videoLine, error) {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(offer); err != nil {
		return nil, err
	}
	var out []videoLine
	for _, m := range d.MediaDescriptions {
		if m.MediaName.Media != "video" {
			continue
		}
		l := videoLine{direction: "sendrecv", codecs: map[string]bool{}}
		for _, a := range m.Attributes {
			switch a.Key {
			case "mid":
				l.mid = a.Value
			case "sendrecv", "sendonly", "recvonly", "inactive":
				l.direction = a.Key
			case "rtpmap":
				if codec, ok := rtpmapCodec(a.Value); ok {
					l.codecs[codec] = true
				}
			}
		}
		if m.MediaName.Port.Value == 0 {
			l.direction = "inactive"
		}
		out = append(out, l)
	}
	return out, nil
}

// rtpmapCodec returns the encoding name of an rtpmap value
// ("96 VP8/90000" → "VP8").
func rtpmapCodec(v string) (string, bool) {
	_, rest, ok := strings.Cut(v, " ")
	if !ok {
		return "", false
	}
	name, _, ok := strings.Cut(rest, "/")
	return name, ok && name != ""
}

// checkOfferSize bounds an offer before it is parsed: at most maxBytes,
// at most 1+maxRecv video m-lines (the camera and the receive lines) and
// at most maxRecv+4 m-lines in all (audio, camera, data channel, one
// spare). pion makes a transceiver of every m-line it is given, so this is
// what keeps one SUBSCRIBE from creating thousands (RFC 8866 §5.14: every
// media description starts with an "m=" line).
func checkOfferSize(offer string, maxBytes, maxRecv int) error {
	if len(offer) > maxBytes {
		return fmt.Errorf("%w: %d bytes of SDP, at most %d", ErrOfferTooLarge, len(offer), maxBytes)
	}
	all, video := 0, 0
	for rest := offer; rest != ""; {
		var line string
		line, rest, _ = strings.Cut(rest, "\n")
		if !strings.HasPrefix(line, "m=") {
			continue
		}
		all++
		if strings.HasPrefix(line, "m=video ") {
			video++
		}
	}
	if video > 1+maxRecv || all > maxRecv+4 {
		return fmt.Errorf("%w: %d m-lines (%d video), at most %d video receive lines", ErrOfferTooLarge, all, video, maxRecv)
	}
	return nil
}
