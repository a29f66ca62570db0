package datadir

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestAcquireRefusesSecondProcess: a child process holds the lock; this
// one is refused with ErrInUse naming the child's pid; after the child
// exits the lock is free again.
func TestAcquireRefusesSecondProcess(t *testing.T) {
	if os.Getenv("DATADIR_HOLD") != "" {
		l, err := Acquire(os.Getenv("DATADIR_HOLD"))
		if err != nil {
			os.Exit(3)
		}
		os.Stdout.WriteString("held\n")
		_, _ = os.Stdin.Read(make([]byte, 1)) // until the parent closes stdin
		_ = l.Release()
		os.Exit(0)
	}
	dir := t.TempDir()
	child := exec.Command(os.Args[0], "-test.run", "^TestAcquireRefusesSecondProcess$")
	child.Env = append(os.Environ(), "DATADIR_HOLD="+dir)
	stdin, _ := child.StdinPipe()
	out, _ := child.StdoutPipe()
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := out.Read(buf); err != nil || string(buf[:4]) != "held" {
		t.Fatalf("child did not take the lock: %q %v", buf, err)
	}
	_, err := Acquire(dir)
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "process "+strconv.Itoa(child.Process.Pid)) {
		t.Fatalf("second Acquire: %v (child pid %d)", err, child.Process.Pid)
	}
	_ = stdin.Close()
	if err := child.Wait(); err != nil {
		t.Fatal(err)
	}
	l, err := Acquire(dir)
	if err != nil {
		t.Fatalf("after the holder exited: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
}
