package conference

import "errors"

// ErrClosed is returned once the Registry is closed or the Room has ended.
var ErrClosed = errors.New("conference: closed")
