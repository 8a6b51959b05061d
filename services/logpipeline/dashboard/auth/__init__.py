"""Sign-in for the dashboard: sessions in signed cookies, a guard on every route, the sign-in pages, roles."""
