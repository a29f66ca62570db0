package debughttp

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// The index, a named profile and cmdline answer once mounted.
func TestMountPprof(t *testing.T) {
	mux := http.NewServeMux()
	MountPprof(mux)
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/goroutine?debug=1", "/debug/pprof/cmdline"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != http.StatusOK || rec.Body.Len() == 0 {
			t.Errorf("GET %s: %d, %d bytes", path, rec.Code, rec.Body.Len())
		}
	}
}
