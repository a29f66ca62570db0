package notify

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
)

// importLegacy moves the outbox of a version that kept it in its own file
// (<Dir>/notify.db, unprefixed buckets) into db, the shared file, in one
// transaction, then renames the old file to notify.db.imported so it is
// never imported twice. Queued events, dead letters, meeting registrations
// and admin hooks all survive the upgrade; seqs are kept, and the outbox
// sequence continues after the highest one.
func importLegacy(db *bolt.DB, path string, log *slog.Logger) error {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	old, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("notify: import %s: %w", path, err)
	}
	var copied int
	err = old.View(func(src *bolt.Tx) error {
		return db.Update(func(dst *bolt.Tx) error {
			for _, names := range allBuckets {
				from := src.Bucket(names[1])
				if from == nil {
					continue
				}
				n, err := copyBucket(dst.Bucket(names[0]), from)
				if err != nil {
					return err
				}
				copied += n
			}
			if from := src.Bucket([]byte("outbox")); from != nil {
				to := dst.Bucket(bucketOutbox)
				return to.SetSequence(max(to.Sequence(), from.Sequence()))
			}
			return nil
		})
	})
	if cerr := old.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("notify: import %s: %w", path, err)
	}
	if err := os.Rename(path, path+".imported"); err != nil {
		return fmt.Errorf("notify: imported %s but could not rename it aside: %w", path, err)
	}
	log.Info("notify outbox imported into the shared store", "from", path, "records", copied, "renamed_to", path+".imported")
	return nil
}

// copyBucket copies every key of from, recursing into nested buckets, and
// returns how many values it copied.
func copyBucket(to, from *bolt.Bucket) (int, error) {
	n := 0
	err := from.ForEach(func(k, v []byte) error {
		if v != nil {
			n++
			return to.Put(k, v)
		}
		child, err := to.CreateBucketIfNotExists(k)
		if err != nil {
			return err
		}
		m, err := copyBucket(child, from.Bucket(k))
		n += m
		return err
	})
	return n, err
}
