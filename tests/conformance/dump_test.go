package conformance

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var dump = flag.String("dump", "", "write each scenario's native transcript to this directory")

func TestDump(t *testing.T) {
	if *dump == "" {
		t.Skip("no -dump")
	}
	for _, sc := range Scenarios {
		lines := Transcript(t, sc, Native)
		name := strings.ReplaceAll(sc.Name, " ", "_") + ".txt"
		if err := os.WriteFile(filepath.Join(*dump, name), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
