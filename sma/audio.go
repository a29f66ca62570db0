package sma

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// AudioStore reads prompts: AudioSource {BucketName, Key} is the file
// <Dir>/<BucketName>/<Key>. Decoded prompts are cached, bounded in bytes,
// and re-read when the file changes.
type AudioStore struct {
	Dir string

	mu    sync.Mutex
	cache map[string]cachedPrompt
	bytes int
}

type cachedPrompt struct {
	mod  time.Time
	size int64
	pcm  []int16
}

// maxCacheBytes bounds the decoded prompts kept in memory.
const maxCacheBytes = 64 << 20

var errSource = errors.New("sma: invalid audio source")

// Load returns the prompt's samples at 8 kHz. A bucket or key that would
// leave Dir, a missing, oversized or unparseable file is errSource.
func (s *AudioStore) Load(src AudioSource) ([]int16, error) {
	if !src.valid() || s.Dir == "" || !safeName(src.BucketName) {
		return nil, errSource
	}
	key := filepath.Clean("/" + src.Key)
	if strings.Contains(src.Key, "..") || strings.ContainsRune(src.Key, 0) || key == "/" {
		return nil, errSource
	}
	path := filepath.Join(s.Dir, src.BucketName, key)
	f, err := os.Open(path)
	if err != nil {
		return nil, errSource
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() > maxAudioBytes {
		return nil, errSource
	}
	s.mu.Lock()
	if c, ok := s.cache[path]; ok && c.mod.Equal(st.ModTime()) && c.size == st.Size() {
		s.mu.Unlock()
		return c.pcm, nil
	}
	s.mu.Unlock()
	b, err := io.ReadAll(io.LimitReader(f, maxAudioBytes+1))
	if err != nil || len(b) > maxAudioBytes {
		return nil, errSource
	}
	pcm, err := decodeWAV(b)
	if err != nil {
		return nil, errSource
	}
	s.remember(path, cachedPrompt{mod: st.ModTime(), size: st.Size(), pcm: pcm})
	return pcm, nil
}

// remember caches a prompt, emptying the cache when it would grow past
// maxCacheBytes (prompts are few; a full cache is rare).
func (s *AudioStore) remember(path string, c cachedPrompt) {
	n := 2 * len(c.pcm)
	if n > maxCacheBytes {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cache == nil || s.bytes+n > maxCacheBytes {
		s.cache, s.bytes = map[string]cachedPrompt{}, 0
	}
	if old, ok := s.cache[path]; ok {
		s.bytes -= 2 * len(old.pcm)
	}
	s.cache[path] = c
	s.bytes += n
}

// safeName reports whether a bucket name is one path element.
func safeName(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, "/\\\x00")
}
