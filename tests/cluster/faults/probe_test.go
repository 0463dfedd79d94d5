package faults

import (
	"math/rand/v2"
	"testing"

	redisadapter "github.com/socketcore/socketcore/adapter/redis"
	"github.com/socketcore/socketcore/adapter/wire"
)

// TestCodecRejectsGarbage: the adapter's codec refuses every garbage
// payload of TestGarbageOnChannels on every kind of channel (a cheap
// check that the live test's garbage is garbage).
func TestCodecRejectsGarbage(t *testing.T) {
	c := redisadapter.Codec{Prefix: "p", UID: "me"}
	for _, nsp := range []string{"/", "/other"} {
		channels := []string{wire.BroadcastChannel("p", nsp), wire.RoomChannel("p", nsp, "r"),
			wire.RequestChannel("p", nsp), wire.ResponseChannel("p", nsp), wire.SpecificResponseChannel("p", nsp, "me")}
		for i, g := range garbage(t, rand.New(rand.NewPCG(1, 1)), nsp) {
			for _, ch := range channels {
				if d, err := c.Decode(nsp, ch, g); err == nil {
					s := string(g)
					if len(s) > 150 {
						s = s[:150] + "…"
					}
					t.Errorf("%s: garbage %d %q taken on %s as %+v", nsp, i, s, ch, d.Msg)
				}
			}
		}
	}
}
