// Package fileproto is the file transfer protocol of 'utp send' and 'utp
// recv': a sender offers files one by one over a reliable byte stream; the
// receiver says how much of each it already holds, the sender checks that
// prefix against its own file and sends the rest, and the receiver
// verifies the whole file's SHA-256 before it accepts it.
//
// # Wire format, version 2
//
// Control messages are lines of UTF-8 text, each at most MaxLine bytes
// with its '\n'. File data travels in frames, so that a sender can end or
// abort a file of unknown size (a pipe) in band.
//
//	sender:   utp-file/2
//	for each file:
//	sender:   file {"name":NAME,"size":SIZE}   SIZE is -1 when unknown
//	receiver: resume OFFSET HEX                 it holds OFFSET bytes of NAME from an
//	                                            earlier attempt, whose SHA-256 is HEX
//	                                            (0 and the hash of nothing: none)
//	      or: no REASON TEXT                    it refuses the file; the sender stops
//	sender:   start OFFSET                      OFFSET is the receiver's if the sender's
//	                                            first OFFSET bytes hash to HEX, else 0
//	sender:   frames, each a 4-byte big-endian length L, then:
//	            1 <= L <= MaxChunk              L bytes of the file
//	            L = 0                           the end: the SHA-256 of the whole file
//	                                            (32 bytes) follows
//	            L = 0xFFFFFFFF                  the sender gives up on this transfer
//	receiver: ok                                verified and stored under NAME
//	      or: bad                               the SHA-256 did not match; nothing stored
//	      or: no REASON TEXT                    it stopped (also while data flows)
//	after the last file:
//	sender:   done
//
// NAME must be a plain file name (ValidName): no path separators, no
// control or other unprintable characters, at most MaxName bytes. REASON
// is a word (Reason), TEXT a sentence for people, which a receiver of it
// prints only after escaping (Printable). A reason code says what
// happened; what a program does about it (its exit status) is its own
// affair.
//
// A receiver that keeps what an interrupted transfer left can resume it:
// the prefix it offers is checked by hash, and the whole file is still
// verified at the end, so a stale or foreign partial file costs a restart
// from 0, never a wrong file.
package fileproto
