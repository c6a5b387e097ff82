// Package journal is a durable, append-only log of checksummed records for
// the visit pipeline's background goroutines (never the redirect hot path).
//
// A record is appended with a plain write(2), so it is in the page cache when
// Append returns and survives the process being killed; a background
// fdatasync every SyncInterval bounds what a power loss can lose. Records are
// released out of order by appending a tombstone; segment files are deleted
// oldest-first once they and every older segment hold no live record, so a
// tombstone is never deleted before the records it kills and a released
// record never comes back.
//
// On disk the log is a directory of segment files named after the id of their
// first record, 20 digits zero-padded, with the suffix .seg. Each starts with
// an 8-byte header (the magic MBJL and the version 1 as a little-endian
// uint32) followed by frames:
//
//	length uint32   // of data
//	crc    uint32   // CRC-32C (Castagnoli) of kind, id and data
//	kind   uint8    // 0 is a tombstone: data is the released ids, uint64 each
//	id     uint64
//	data   [length]byte
//
// All integers are little-endian. Ids increase strictly across the whole log
// and across restarts; a tombstone takes an id too.
//
// One Log at a time may use a directory; nothing enforces this.
//
// It imports nothing local.
package journal
