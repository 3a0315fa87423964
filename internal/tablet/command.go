package tablet

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Raft command format, version 1. Commands live in the Raft log, so the
// next version must still decode these bytes.
//
//	byte version (1), byte op
//	opPut:    varint insertTS, uvarint n, n × (u64 client, u64 seq, uvarint len, row)
//	opDelete: u64 client, u64 seq, uvarint len, index, uvarint len, key
const (
	cmdVersion1 = 1
	opPut       = 1
	opDelete    = 2
)

var errBadCommand = errors.New("malformed raft command")

// requestID identifies one client write for at-most-once application.
type requestID struct{ client, seq uint64 }

type putCmd struct {
	insertTS int64
	ids      []requestID
	rows     [][]byte
}

type deleteCmd struct {
	id         requestID
	index, key string
}

func encodePut(c putCmd) []byte {
	n := 16
	for _, r := range c.rows {
		n += 16 + binary.MaxVarintLen32 + len(r)
	}
	b := make([]byte, 0, n)
	b = append(b, cmdVersion1, opPut)
	b = binary.AppendVarint(b, c.insertTS)
	b = binary.AppendUvarint(b, uint64(len(c.rows)))
	for i, r := range c.rows {
		b = binary.LittleEndian.AppendUint64(b, c.ids[i].client)
		b = binary.LittleEndian.AppendUint64(b, c.ids[i].seq)
		b = binary.AppendUvarint(b, uint64(len(r)))
		b = append(b, r...)
	}
	return b
}

func encodeDelete(c deleteCmd) []byte {
	b := []byte{cmdVersion1, opDelete}
	b = binary.LittleEndian.AppendUint64(b, c.id.client)
	b = binary.LittleEndian.AppendUint64(b, c.id.seq)
	b = binary.AppendUvarint(b, uint64(len(c.index)))
	b = append(b, c.index...)
	b = binary.AppendUvarint(b, uint64(len(c.key)))
	return append(b, c.key...)
}

type cmdReader struct {
	b   []byte
	err error
}

func (r *cmdReader) u64() uint64 {
	if r.err != nil || len(r.b) < 8 {
		r.err = errBadCommand
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *cmdReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errBadCommand
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *cmdReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errBadCommand
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *cmdReader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.b)) {
		r.err = errBadCommand
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

// decodeCommand returns a putCmd or a deleteCmd.
func decodeCommand(b []byte) (any, error) {
	if len(b) < 2 || b[0] != cmdVersion1 {
		return nil, fmt.Errorf("%w: unknown version", errBadCommand)
	}
	r := &cmdReader{b: b[2:]}
	switch b[1] {
	case opPut:
		c := putCmd{insertTS: r.varint()}
		n := r.uvarint()
		if n > uint64(len(r.b)) {
			return nil, errBadCommand
		}
		for i := uint64(0); i < n && r.err == nil; i++ {
			id := requestID{r.u64(), r.u64()}
			row := r.bytes()
			c.ids = append(c.ids, id)
			c.rows = append(c.rows, row)
		}
		return c, r.err
	case opDelete:
		c := deleteCmd{id: requestID{r.u64(), r.u64()}}
		c.index = string(r.bytes())
		c.key = string(r.bytes())
		return c, r.err
	}
	return nil, fmt.Errorf("%w: unknown op %d", errBadCommand, b[1])
}
