//go:build !unix

package netguard

func fileLimit() int { return 1024 }
