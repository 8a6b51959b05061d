/* Clientside callbacks of the dashboard: keep the URL in step with the controls, set the refresh timer. */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  logpipeline: {
    syncUrl: function (range, start, end, apis, slo, refresh, paused, name, region) {
      const p = new URLSearchParams();
      if (name) p.append("name", name);
      if (range) p.append("range", range); // always: a link shows its range whatever the reader's default
      if (range === "custom") {
        p.append("start", start || "");
        p.append("end", end || "");
      }
      (Array.isArray(apis) ? apis : []).forEach(function (a) { p.append("api", a); });
      if (slo !== null && slo !== undefined && slo !== "" && Number(slo) !== 99) p.append("slo", String(slo));
      if (refresh && String(refresh) !== "10") p.append("refresh", String(refresh));
      if (paused) p.append("paused", "1");
      if (region && region !== "all") p.append("region", region);
      const q = p.toString();
      window.history.replaceState(window.history.state, "", window.location.pathname + (q ? "?" + q : ""));
      return q;
    },
    syncOverviewUrl: function (range, start, end, apis, slo, refresh, paused, region) {
      return window.dash_clientside.logpipeline.syncUrl(range, start, end, apis, slo, refresh, paused, null, region);
    },
    syncApiUrl: function (range, start, end, slo, refresh, paused, name, region) {
      return window.dash_clientside.logpipeline.syncUrl(range, start, end, [], slo, refresh, paused, name, region);
    },
    interval: function (refresh, paused) {
      return [Number(refresh || 10) * 1000, Boolean(paused)];
    },
    zone: function (pref) {
      if (pref !== "browser") return pref || "UTC";
      try { return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; } catch (e) { return "UTC"; }
    },
    showCustom: function (range) {
      return range === "custom" ? {} : { display: "none" };
    },
  },
});
