package attendee

import (
	"context"
	"fmt"
	"strings"

	"github.com/pion/webrtc/v4"
)

// offer returns a full offer (no trickle: candidates included) shaped as
// Chrome's under the SDK: the camera m-line inactive unless cam sends, the
// first subs video m-lines after it recvonly and the others inactive.
func (a *Attendee) offer(ctx context.Context, cam *camera, subs int) (string, error) {
	o, err := a.pc.CreateOffer(nil)
	if err != nil {
		return "", fmt.Errorf("attendee: create offer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(a.pc)
	if err := a.pc.SetLocalDescription(o); err != nil {
		return "", fmt.Errorf("attendee: set local description: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", fmt.Errorf("attendee: ICE gathering: %w", ctx.Err())
	}
	return shapeOffer(a.pc.LocalDescription().SDP, cam != nil, cam != nil && len(cam.layers) > 1, subs), nil
}

// shapeOffer rewrites pion's offer where it differs from Chrome's:
//
//   - pion offers a transceiver without a sender as recvonly; Chrome's
//     camera line before video starts, and a receive line it no longer
//     uses, are inactive. So the first video m-line (the camera) is made
//     inactive unless camera, and every video m-line after the first
//     subs ones following it;
//   - pion lists a=ssrc lines for RID simulcast encodings, Chrome does
//     not (the receiver learns the SSRCs from the rid header extension):
//     with simulcast they are dropped from the camera line.
func shapeOffer(sd string, camera, simulcast bool, subs int) string {
	lines := strings.Split(sd, "\r\n")
	out := make([]string, 0, len(lines))
	videos, inVideo := 0, false
	for _, l := range lines {
		if strings.HasPrefix(l, "m=") {
			inVideo = strings.HasPrefix(l, "m=video")
			if inVideo {
				videos++
			}
		}
		idx := videos - 1 // 0: the camera
		switch {
		case !inVideo:
		case isDirection(l) && ((idx == 0 && !camera) || idx > subs):
			l = "a=inactive"
		case idx == 0 && simulcast && (strings.HasPrefix(l, "a=ssrc:") || strings.HasPrefix(l, "a=ssrc-group:")):
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\r\n")
}

func isDirection(l string) bool {
	switch l {
	case "a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive":
		return true
	}
	return false
}
