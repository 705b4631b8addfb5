package engineio

import (
	"encoding/base64"
	"sync"
)

// Engine.IO packet types (the first character of a text packet).
const (
	typeOpen    = '0'
	typeClose   = '1'
	typePing    = '2'
	typePong    = '3'
	typeMessage = '4'
	typeUpgrade = '5'
	typeNoop    = '6'
)

// Packet is an Engine.IO "message" packet ready to be sent to any number of
// connections: the payload is encoded once and each transport's framing is
// built once, on first use, and shared. A Packet must not be modified after
// it is created.
type Packet struct {
	data   []byte
	binary bool
	typ    byte // 0 means typeMessage; control packets set it

	rawFrame []byte // a prebuilt websocket control frame (pong, close)

	wsOnce   sync.Once
	wsFrame  []byte // the complete websocket frame
	pollOnce sync.Once
	pollForm []byte // the packet as it appears in a polling payload
}

// NewTextPacket returns a text message packet. data is what the receiver's
// OnMessage gets (for Socket.IO, the encoded Socket.IO packet), without
// Engine.IO's "4" type prefix. The packet keeps data; do not modify it.
func NewTextPacket(data []byte) *Packet { return &Packet{data: data} }

// NewBinaryPacket returns a binary message packet (websocket: a binary
// frame; polling: "b" and base64). The packet keeps data.
func NewBinaryPacket(data []byte) *Packet { return &Packet{data: data, binary: true} }

// Data is the payload as given to the constructor.
func (p *Packet) Data() []byte { return p.data }

// Binary reports whether this is a binary packet.
func (p *Packet) Binary() bool { return p.binary }

// controlPacket returns a non-message text packet (ping, noop, ...).
func controlPacket(typ byte, data string) *Packet {
	return &Packet{data: []byte(data), typ: typ}
}

// Shared control packets: built once for the whole process.
var (
	pktPing  = controlPacket(typePing, "")
	pktNoop  = controlPacket(typeNoop, "")
	pktClose = controlPacket(typeClose, "")
)

func (p *Packet) packetType() byte {
	if p.typ == 0 {
		return typeMessage
	}
	return p.typ
}

// frame returns the websocket frame for p, built on first use.
func (p *Packet) frame() []byte {
	if p.rawFrame != nil {
		return p.rawFrame
	}
	p.wsOnce.Do(func() {
		if p.binary {
			p.wsFrame = appendFrame(nil, opBinary, nil, p.data)
			return
		}
		p.wsFrame = appendFrame(nil, opText, []byte{p.packetType()}, p.data)
	})
	return p.wsFrame
}

// polling returns p as it appears in a polling payload, built on first use.
func (p *Packet) polling() []byte {
	p.pollOnce.Do(func() {
		if p.binary {
			b := make([]byte, 1+base64.StdEncoding.EncodedLen(len(p.data)))
			b[0] = 'b'
			base64.StdEncoding.Encode(b[1:], p.data)
			p.pollForm = b
			return
		}
		b := make([]byte, 0, 1+len(p.data))
		b = append(b, p.packetType())
		p.pollForm = append(b, p.data...)
	})
	return p.pollForm
}
