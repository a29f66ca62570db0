package session

import "github.com/confab-media/confab/signaling/media"

// statusError is a media server's error with its SUBSCRIBE_ACK status.
type statusError uint32

func (e statusError) Error() string  { return "media error" }
func (e statusError) Status() uint32 { return uint32(e) }

// errBadRequest is what the fake media servers refuse an offer with.
const errBadRequest = statusError(media.StatusBadRequest)
