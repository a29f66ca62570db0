// Package testkit is what the packages' tests share: leak checking that
// names the goroutine left behind (go.uber.org/goleak), a meeting service
// on a memory store, and a recorder of published events. It is imported
// by tests only.
package testkit
