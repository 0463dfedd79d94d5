package native

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

// TestHandlerPanicLogged: a handler's panic goes to the server's Logger at
// error level, its stack as an attribute, and goes no further.
func TestHandlerPanicLogged(t *testing.T) {
	var b bytes.Buffer
	srv := NewServer(Options{Logger: slog.New(slog.NewJSONHandler(&b, nil))})
	defer srv.Close()
	srv.safely(func() { panic("boom") })
	var rec struct {
		Level, Msg, Panic, Stack string
	}
	if err := json.Unmarshal(b.Bytes(), &rec); err != nil {
		t.Fatalf("%v: %q", err, b.String())
	}
	if rec.Level != "ERROR" || rec.Msg != "socketcore: handler panic" || rec.Panic != "boom" || !strings.Contains(rec.Stack, "TestHandlerPanicLogged") {
		t.Errorf("got %+v", rec)
	}
}
