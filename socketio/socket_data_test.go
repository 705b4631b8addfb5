package socketio

import "testing"

func TestSocketData(t *testing.T) {
	type user struct{ Name string }
	s := &Socket{}
	if s.Data() != nil {
		t.Fatalf("Data() = %v before SetData, want nil", s.Data())
	}
	if _, ok := DataAs[user](s); ok {
		t.Fatal("DataAs reports a value before SetData")
	}
	s.SetData(user{"ada"})
	u, ok := DataAs[user](s)
	if !ok || u.Name != "ada" {
		t.Fatalf("DataAs = %v, %v; want {ada}, true", u, ok)
	}
	if _, ok := DataAs[string](s); ok {
		t.Fatal("DataAs[string] reports a user as a string")
	}
}
