package web_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// chromium is where Debian's chromium package puts the browser.
const chromium = "/usr/bin/chromium"

// browser starts a fresh headless Chromium for one test, or skips.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := chromium
	if p := os.Getenv("WASMCTL_CHROMIUM"); p != "" {
		path = p
	}
	if _, err := os.Stat(path); err != nil {
		t.Skipf("headless browser test needs Chromium at %s (apt-get install chromium, or set WASMCTL_CHROMIUM): %v", path, err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelC(); cancelA() })
	// The first call starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// TestBrowserJourney drives the UI as a user would, in headless Chromium:
// log in, search, open a filter page, read the README and versions, create
// a token, and checks that the hostile README never ran a script.
func TestBrowserJourney(t *testing.T) {
	e := newEnv(t)
	ctx := browser(t)
	base := e.srv.URL

	do := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	eval := func(js string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](js))
		if err != nil {
			t.Fatalf("evaluate %s: %v", js, err)
		}
		return n
	}

	// Each step is also looked at on a phone-sized screen (390 px wide),
	// where nothing may overflow sideways. WASMCTL_SCREENSHOTS=DIR saves a
	// full-page PNG of each step at both widths (NAME.png, NAME-narrow.png).
	dir := os.Getenv("WASMCTL_SCREENSHOTS")
	save := func(name string) {
		t.Helper()
		if dir == "" {
			return
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	shot := func(name string) {
		t.Helper()
		save(name)
		do("narrow screen", chromedp.EmulateViewport(390, 844))
		if over := eval(`document.documentElement.scrollWidth - window.innerWidth`); over > 0 {
			wide, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("body *")]
				.filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
				.map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className ? "." + e.className : "")).join(" ")`))
			t.Errorf("%s: the page is %d px wider than a 390 px screen; too wide: %s", name, over, wide)
		}
		save(name + "-narrow")
		do("wide screen", chromedp.EmulateViewport(1280, 900))
		if dir != "" { // the dark colour scheme, for a look
			do("dark scheme", darkScheme(true))
			save(name + "-dark")
			do("light scheme", darkScheme(false))
		}
	}

	do("open explore", chromedp.Navigate(base+"/"))
	shot("1-explore-anonymous")
	do("log in from the header link",
		chromedp.Navigate(base+"/"),
		chromedp.Click(chromedp.CSS(`a[href="/login"]`), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS(`#username`)),
		chromedp.SendKeys(chromedp.CSS(`#username`), "alice"),
		chromedp.SendKeys(chromedp.CSS(`#password`), "correct-horse"),
		chromedp.Submit(chromedp.CSS(`#password`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/logout"]`)),
	)
	shot("2-after-login")
	do("search",
		chromedp.Navigate(base+"/"),
		chromedp.SendKeys(chromedp.CSS(`#q`), "rate"),
		chromedp.Submit(chromedp.CSS(`#q`)),
		// Wait for the results page itself, not the listing it replaces.
		chromedp.WaitVisible(chromedp.CSS(`section.results[data-query="rate"] a[href="/filters/acme/rate-limit"]`)),
	)
	shot("3-search")
	cards := eval(`document.querySelectorAll(".cards .card").length`)
	do("open the filter page",
		chromedp.Click(chromedp.CSS(`a[href="/filters/acme/rate-limit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#versions`)),
	)
	shot("4-filter")
	heading, readme := text(`#f-h`), text(`.markdown h2`)
	versions := eval(`document.querySelectorAll("#versions tbody tr").length`)
	hostile := eval(`document.querySelectorAll(".markdown script, .markdown img[onerror], .markdown a[href^=javascript]").length`)
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	do("create a token",
		chromedp.Navigate(base+"/settings/tokens"),
		chromedp.WaitVisible(chromedp.CSS(`#tname`)),
		chromedp.SendKeys(chromedp.CSS(`#tname`), "browser"),
		chromedp.Submit(chromedp.CSS(`#tname`)),
		chromedp.WaitVisible(chromedp.CSS(`#new-token`)),
	)
	secret := text(`#new-token`)
	shot("5-token-created")
	do("open a namespace page", chromedp.Navigate(base+"/namespaces/acme"))
	shot("6-namespace")
	do("log out",
		chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/login"]`)),
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`#username`)),
	)
	shot("7-login")
	if cards != 1 {
		t.Errorf("search for 'rate' shows %d cards, want 1", cards)
	}
	if strings.TrimSpace(heading) != "rate-limit" || readme != "Rate limit" {
		t.Errorf("filter page heading %q, README title %q", heading, readme)
	}
	if versions != 2 {
		t.Errorf("versions table has %d rows, want 2", versions)
	}
	if strings.Contains(title, "pwned") || hostile != 0 {
		t.Errorf("the README's script ran or survived: title %q, %d hostile nodes", title, hostile)
	}
	if !strings.HasPrefix(secret, "whp_") {
		t.Fatalf("token shown = %q", secret)
	}
	// The token created in the browser works against the API.
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/filters?q=rate", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("API with the browser-made token = %s", resp.Status)
	}
}

// darkScheme makes the page see prefers-color-scheme: dark (or stops).
func darkScheme(on bool) chromedp.Action[chromedp.Void] {
	p := emulation.SetEmulatedMediaParams{}
	if on {
		p.Features = []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}
	}
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, p)
		return err
	})
}
