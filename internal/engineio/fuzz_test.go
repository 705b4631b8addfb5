package engineio

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"testing"
	"unicode/utf8"
)

// FuzzWSReader feeds arbitrary bytes to the frame reader: it must never
// panic, return a message above the limit, or invalid UTF-8 as text.
func FuzzWSReader(f *testing.F) {
	f.Add(frameBytes(true, opText, []byte("4hello")))
	f.Add(append(frameBytes(false, opText, []byte("4a")), frameBytes(true, opContinuation, []byte("b"))...))
	f.Add(frameBytes(true, opPing, []byte("x")))
	f.Add(frameBytes(true, opBinary, bytes.Repeat([]byte{7}, 300)))
	f.Add([]byte{0x81, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 256
		rd := &wsReader{src: bytes.NewReader(data), maxPayload: limit}
		for {
			fr, err := rd.next()
			if err != nil {
				var we *wsError
				if !errors.As(err, &we) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("unexpected error type %T: %v", err, err)
				}
				return
			}
			if fr.op >= 0x8 && len(fr.payload) > 125 {
				t.Fatalf("control frame of %d bytes", len(fr.payload))
			}
			if fr.op < 0x8 && len(fr.payload) > limit {
				t.Fatalf("message of %d bytes above the limit", len(fr.payload))
			}
			if fr.op == opText && !utf8.Valid(fr.payload) {
				t.Fatal("invalid UTF-8 text returned")
			}
		}
	})
}

type nopHandler struct{}

func (nopHandler) OnOpen(*Conn)                  {}
func (nopHandler) OnMessage(*Conn, []byte, bool) {}
func (nopHandler) OnClose(*Conn, string)         {}

// FuzzPollingPayload feeds arbitrary POST bodies to the payload parser.
func FuzzPollingPayload(f *testing.F) {
	f.Add([]byte("4hello\x1ebAQID\x1e3\x1e6"))
	f.Add([]byte("b!!!"))
	f.Add([]byte("\x1e\x1e"))
	f.Add([]byte("9"))
	s, err := newServer(Config{Handler: nopHandler{}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c := s.newConn(&http.Request{}, "")
		err := c.onPayload(body)
		if err != nil && !errors.Is(err, errParse) {
			t.Fatalf("error %v does not wrap errParse", err)
		}
	})
}
