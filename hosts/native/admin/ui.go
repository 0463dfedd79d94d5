package admin

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
)

// UIHandler serves the UI's built page from dir: the ui/dist folder of the
// npm package @socket.io/admin-ui (npm install @socket.io/admin-ui puts it
// in node_modules/@socket.io/admin-ui/ui/dist), the same page as
// https://admin.socket.io. Its paths are relative, so it can be mounted
// under any prefix: mux.Handle("/admin/", http.StripPrefix("/admin/", h)).
// Served by the Socket.IO server itself, it needs no CORS.
func UIHandler(dir string) (http.Handler, error) {
	if _, err := os.Stat(filepath.Join(dir, "index.html")); err != nil {
		return nil, fmt.Errorf("admin: %s has no index.html (the ui/dist folder of @socket.io/admin-ui): %w", dir, err)
	}
	fs := http.FileServer(http.Dir(dir))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		fs.ServeHTTP(w, r)
	}), nil
}
