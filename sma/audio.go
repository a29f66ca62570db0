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
	// S3, if set, holds the prompts instead of Dir (an object is
	// re-read only when its ETag changed).
	S3 *S3

	mu    sync.Mutex
	cache map[string]cachedPrompt
	bytes int
}

type cachedPrompt struct {
	mod  time.Time
	size int64
	etag string // S3's
	pcm  []int16
}

// maxCacheBytes bounds the decoded prompts kept in memory.
const maxCacheBytes = 64 << 20

var errSource = errors.New("sma: invalid audio source")

// Load returns the prompt's samples at 8 kHz. A bucket or key that would
// leave Dir, a missing, oversized or unparseable file is errSource.
func (s *AudioStore) Load(src AudioSource) ([]int16, error) {
	if s.S3 != nil {
		return s.loadS3(src)
	}
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

// loadS3 reads a prompt from S3, using the cached decode while its ETag
// holds.
func (s *AudioStore) loadS3(src AudioSource) ([]int16, error) {
	if !src.valid() {
		return nil, errSource
	}
	id := "s3:" + src.BucketName + "/" + src.Key
	s.mu.Lock()
	c, cached := s.cache[id]
	s.mu.Unlock()
	b, etag, err := s.S3.get(src.BucketName, src.Key, c.etag, maxAudioBytes)
	if errors.Is(err, errNotModified) && cached {
		return c.pcm, nil
	}
	if err != nil {
		return nil, errSource
	}
	pcm, err := decodeWAV(b)
	if err != nil {
		return nil, errSource
	}
	if etag != "" {
		s.remember(id, cachedPrompt{etag: etag, pcm: pcm})
	}
	return pcm, nil
}
