//go:build !linux

package visitlog

import (
	"errors"
	"os"
)

var errNoJournal = errors.New("visitlog: journals need Linux")

func mmap(*os.File, int64) ([]byte, error) { return nil, errNoJournal }
func munmap([]byte)                        {}
func msync([]byte) error                   { return errNoJournal }
func unmapInPlace([]byte) error            { return errNoJournal }
func fallocate(*os.File, int64) error      { return nil }
func lock(*os.File) error                  { return nil }
