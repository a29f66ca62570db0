package load

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/confab-media/confab/bench/attendee"
)

// Keyframe sizes: what each received stream showed last, so a run can tell
// that subscribers got the layer they asked for (the synthetic camera's
// layers are 320x180, 640x360 and 1280x720), whichever the codec.

// sizeKey names a frame size as KeyframeSizes counts it.
func sizeKey(w, h int) string { return fmt.Sprintf("%dx%d", w, h) }

// addKeyframeSize counts st's last keyframe size into v, if it had one.
func (v *VideoReport) addKeyframeSize(st attendee.VideoStats) {
	if st.Keyframes == 0 {
		return
	}
	if v.KeyframeSizes == nil {
		v.KeyframeSizes = map[string]int{}
	}
	v.KeyframeSizes[sizeKey(st.LastKeyWidth, st.LastKeyHeight)]++
}

// mergeKeyframeSizes adds another report's counts into v.
func (v *VideoReport) mergeKeyframeSizes(from map[string]int) {
	for k, n := range from {
		if v.KeyframeSizes == nil {
			v.KeyframeSizes = map[string]int{}
		}
		v.KeyframeSizes[k] += n
	}
}

// sizesLine is the summary's "1280x720 ×2, 320x180 ×1", largest count
// first.
func sizesLine(sizes map[string]int) string {
	keys := slices.Sorted(maps.Keys(sizes))
	slices.SortStableFunc(keys, func(a, b string) int { return sizes[b] - sizes[a] })
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, sizes[k]))
	}
	return strings.Join(parts, ", ")
}
