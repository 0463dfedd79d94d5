package conformance

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var dump = flag.String("dump", "", "write each scenario's native transcript to this directory")

func TestDump(t *testing.T) {
	if *dump == "" {
		t.Skip("no -dump")
	}
	write := func(name string, lines []string) {
		name = strings.NewReplacer(" ", "_", ",", "", "/", "").Replace(name) + ".txt"
		if err := os.WriteFile(filepath.Join(*dump, name), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, sc := range slices.Concat(Scenarios, RecoveryScenarios) {
		write(sc.Name, Transcript(t, sc, Native))
	}
	for _, sc := range EngineScenarios {
		write(sc.Name, EngineTranscript(t, sc, NativeEngine))
	}
	for _, sc := range ClusterScenarios {
		write(sc.Name, ClusterTranscript(t, sc, Native))
	}
}
