package sma

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// RecordingStore keeps RecordAudio's recordings: bucket B, key K is the
// file <Dir>/<B>/<K>. A bucket is a directory that exists (as an S3 bucket
// must); keys may hold "/" (directories are made) but never "..".
type RecordingStore struct {
	Dir string
	// S3, if set, takes the recordings instead of Dir.
	S3 *S3
}

var errKey = errors.New("sma: invalid recording key")

// ok reports whether the bucket exists.
func (r *RecordingStore) ok(bucket string) bool {
	if r.S3 != nil {
		return bucket != "" && r.S3.bucketExists(bucket)
	}
	if r.Dir == "" || !safeName(bucket) {
		return false
	}
	fi, err := os.Stat(filepath.Join(r.Dir, bucket))
	return err == nil && fi.IsDir()
}

// Put writes data to bucket/key, durably (written to a temporary file,
// synced, renamed).
func (r *RecordingStore) Put(bucket, key string, data []byte) error {
	if r.S3 != nil {
		if key == "" || len(key) > 1024 {
			return errKey
		}
		return r.S3.put(bucket, key, data)
	}
	if !r.ok(bucket) || key == "" || strings.Contains(key, "..") || strings.ContainsRune(key, 0) || strings.HasPrefix(key, "/") {
		return errKey
	}
	path := filepath.Join(r.Dir, bucket, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".rec-*")
	if err != nil {
		return err
	}
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name())
	}
	return err
}
