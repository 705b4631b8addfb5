package gateway

// CallOptions is the resolved form of a call's Options. It lets Gateway
// implementations outside this package (the server-mode gateway in package
// cluster) read what a caller asked for.
type CallOptions struct {
	Namespace  string   // "" means "/"
	Rooms      []string // added by ToRooms
	Except     []string // added by Except
	WaitIfFull bool
}

// ResolveOptions applies opts in order and returns the result.
func ResolveOptions(opts ...Option) CallOptions {
	var o callOptions
	for _, opt := range opts {
		opt(&o)
	}
	return CallOptions{Namespace: o.namespace, Rooms: o.rooms, Except: o.except, WaitIfFull: o.waitIfFull}
}
