//! What the demo's events say, per source: names and properties (the marketing
//! site's page views and clicks, the help desk's tickets and agent assignments,
//! the web app's projects and exports, the apps' screens and orders), and a
//! context with ip, user agent, page or device, library and locale.

use crate::rng::SplitMix64;

use super::generate::{Obj, mix, pick, weighted};

const PATHS: [(&str, &str); 8] = [
    ("/", "Firstparty: analytics you own"),
    ("/pricing", "Pricing"),
    ("/features", "Features"),
    ("/blog/own-your-data", "Own your data"),
    ("/docs/events", "Docs: Events"),
    ("/signup", "Sign up"),
    ("/customers", "Customers"),
    ("/contact", "Contact sales"),
];
const REFERRERS: [&str; 5] = [
    "https://www.google.com/",
    "https://news.ycombinator.com/",
    "https://duckduckgo.com/",
    "",
    "https://www.linkedin.com/",
];
const USER_AGENTS: [&str; 4] = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
];
const LOCALES: [&str; 6] = ["en-US", "en-GB", "de-DE", "fr-FR", "es-ES", "ja-JP"];
const FIRST_NAMES: [&str; 8] = [
    "Sally", "Omar", "Mei", "Lukas", "Ana", "Kwame", "Priya", "Jonas",
];
const SUBJECTS: [&str; 5] = [
    "Help with my billing",
    "Cannot log in",
    "Export is missing rows",
    "Question about pricing",
    "Feature request: dark mode",
];
const SCREENS: [&str; 6] = ["Home", "Search", "Product", "Cart", "Checkout", "Settings"];
const BUTTONS: [&str; 5] = [
    "Get Started",
    "Book a Demo",
    "Read More",
    "Sign In",
    "Download",
];

fn email(index: u64) -> String {
    format!(
        "{}.{index}@example.com",
        FIRST_NAMES[(index % 8) as usize].to_lowercase()
    )
}

/// The event name and properties (JSON) of an event of `source` by profile `who`.
pub(super) fn event(rng: &mut SplitMix64, source: usize, who: u64) -> (&'static str, String) {
    let mut buf = Vec::with_capacity(256);
    let mut p = Obj::new(&mut buf);
    let kind = match source {
        0 => marketing_site,
        1 => help_desk,
        2 => web_app,
        _ => mobile_app,
    };
    let name = kind(rng, &mut p, who);
    p.end();
    (name, String::from_utf8(buf).unwrap_or_default())
}

/// The www Marketing Page: page views, clicks, contact forms, newsletter signups.
fn marketing_site(rng: &mut SplitMix64, p: &mut Obj<'_>, who: u64) -> &'static str {
    let (path, title) = pick(rng, &PATHS);
    match weighted(rng, &[58.0, 14.0, 5.0, 2.0, 2.0, 8.0, 2.0, 1.0, 1.0, 7.0]) {
        0 => {
            p.str("path", path).str("title", title);
            "Page Viewed"
        }
        1 => {
            p.str("label", pick(rng, &BUTTONS)).str("path", path);
            "Button Clicked"
        }
        2 => {
            p.str("form", "Contact Sales").str("email", &email(who));
            "Form Submitted"
        }
        3 => {
            p.str("email", &email(who)).str("list", "Product Updates");
            "Newsletter Signup"
        }
        4 => {
            p.str("form", "Newsletter").str("email", &email(who));
            "form submitted"
        }
        5 => {
            p.num("interval_s", 30);
            "Heartbeat Sent"
        }
        6 => {
            p.str("sku", "126").str("path", "/products/126");
            "Product 126"
        }
        7 => {
            p.num("items", 1 + rng.below(4))
                .num("value", 49 + rng.below(400));
            "Cart-Abandoned"
        }
        8 => {
            p.str("plan", pick(rng, &["free", "team", "business"]))
                .str("email", &email(who));
            "Account Created"
        }
        _ => {
            p.num("percent", 25 * (1 + rng.below(4))).str("path", path);
            "Page Scrolled"
        }
    }
}

/// The Help Desk: tickets and agent assignments.
fn help_desk(rng: &mut SplitMix64, p: &mut Obj<'_>, who: u64) -> &'static str {
    let subject = pick(rng, &SUBJECTS);
    let ticket = 10_000 + rng.below(5_000);
    match weighted(rng, &[25.0, 20.0, 15.0, 20.0, 15.0, 5.0]) {
        0 => {
            p.num("ticket_id", ticket)
                .str("subject", subject)
                .str("priority", pick(rng, &["low", "normal", "high"]))
                .str("channel", pick(rng, &["email", "chat", "phone"]));
            "Ticket Created"
        }
        1 => {
            let agent = pick(rng, &FIRST_NAMES);
            p.str("email", &email(who))
                .str("display_name", agent)
                .str("initiated_from", "Chat Widget")
                .str("subject", subject)
                .num("ticket_id", ticket);
            "Agent Assigned"
        }
        2 => {
            p.str("initiated_from", "Chat Widget")
                .str("page", "/pricing");
            "Chat Started"
        }
        3 => {
            p.str("article", "How do write keys work?")
                .str("path", "/help/write-keys");
            "Article Viewed"
        }
        4 => {
            p.num("ticket_id", ticket)
                .num("resolution_minutes", 5 + rng.below(600))
                .num("csat", 1 + rng.below(5));
            "Ticket Closed"
        }
        _ => {
            p.str("label", "Contact us");
            "Button clicked"
        }
    }
}

/// The Web App: sessions, features, plans.
fn web_app(rng: &mut SplitMix64, p: &mut Obj<'_>, who: u64) -> &'static str {
    match weighted(rng, &[35.0, 20.0, 8.0, 7.0, 5.0, 10.0, 3.0, 12.0]) {
        0 => {
            let (path, title) = pick(
                rng,
                &[
                    ("/app/dashboard", "Dashboard"),
                    ("/app/reports", "Reports"),
                    ("/app/settings", "Settings"),
                    ("/app/projects", "Projects"),
                ],
            );
            p.str("path", path).str("title", title);
            "Page Viewed"
        }
        1 => {
            p.str(
                "label",
                pick(rng, &["New Report", "Share", "Filter", "Export"]),
            );
            "Button Clicked"
        }
        2 => {
            p.num("project_id", rng.below(100_000))
                .str("template", pick(rng, &["blank", "funnel", "retention"]));
            "Project Created"
        }
        3 => {
            p.str("format", pick(rng, &["csv", "pdf", "json"]))
                .num("rows", rng.below(50_000));
            "Report Exported"
        }
        4 => {
            p.str("invitee_email", &email(rng.below(100_000)))
                .str("role", pick(rng, &["viewer", "editor", "admin"]));
            "Invite Sent"
        }
        5 => {
            p.str(
                "form",
                pick(rng, &["Billing Details", "Profile", "Feedback"]),
            );
            "Form Submitted"
        }
        6 => {
            p.str("plan", pick(rng, &["free", "team", "business"]))
                .str("email", &email(who));
            "Trial Started"
        }
        _ => {
            p.str("method", pick(rng, &["password", "google", "sso"]));
            "Login Succeeded"
        }
    }
}

/// The iOS and Android apps: screens, orders, notifications (and some badly named events).
fn mobile_app(rng: &mut SplitMix64, p: &mut Obj<'_>, _who: u64) -> &'static str {
    match weighted(rng, &[42.0, 15.0, 15.0, 8.0, 3.0, 4.0, 2.0, 7.0, 4.0]) {
        0 => {
            p.str("screen", pick(rng, &SCREENS));
            "Screen Viewed"
        }
        1 => {
            p.raw(
                "from_background",
                if rng.chance(0.6) { "true" } else { "false" },
            );
            "Application Opened"
        }
        2 => {
            p.num("product_id", 100 + rng.below(400))
                .num("price", format!("{:.2}", 5.0 + rng.unit() * 95.0))
                .str("currency", "EUR");
            "Product Viewed"
        }
        3 => {
            p.num("product_id", 100 + rng.below(400))
                .num("quantity", 1 + rng.below(3));
            "Product Added"
        }
        4 => {
            let n = 1 + rng.below(3);
            let products: Vec<String> = (0..n)
                .map(|_| format!("{{\"product_id\":{},\"quantity\":1}}", 100 + rng.below(400)))
                .collect();
            p.str("order_id", &format!("o-{:x}", rng.next_u64() >> 24))
                .num("revenue", format!("{:.2}", 20.0 + rng.unit() * 180.0))
                .str("currency", "EUR")
                .raw("products", &format!("[{}]", products.join(",")));
            "Order Completed"
        }
        5 => {
            p.str("campaign", "spring-sale");
            "Push Notification Opened"
        }
        6 => {
            p.num("items", 1 + rng.below(4));
            "Cart-Abandoned"
        }
        7 => {
            p.num("interval_s", 60);
            "Heartbeat Sent"
        }
        _ => {
            p.str("query", pick(rng, &["shoes", "jacket", "gift card"]))
                .num("results", rng.below(120));
            "Products Searched"
        }
    }
}

/// The context of an event of `source` by profile `who`.
pub(super) fn context(rng: &mut SplitMix64, o: &mut Obj<'_>, source: usize, who: u64) {
    let h = mix(who.wrapping_add(source as u64 * 1_000_003));
    let ip = format!(
        "{}.{}.{}.{}",
        23 + (h % 200),
        (h >> 8) % 256,
        (h >> 16) % 256,
        1 + (h >> 24) % 254
    );
    let locale = LOCALES[((h >> 32) % LOCALES.len() as u64) as usize];
    let mut c = o.obj("context");
    c.str("ip", &ip);
    match source {
        0..=2 => {
            let ua = USER_AGENTS[((h >> 40) % USER_AGENTS.len() as u64) as usize];
            c.str("user_agent", ua);
            let (path, title) = pick(rng, &PATHS);
            let host = [
                "www.firstparty.example",
                "help.firstparty.example",
                "app.firstparty.example",
            ][source];
            let mut page = c.obj("page");
            page.str("path", path)
                .str("url", &format!("https://{host}{path}"))
                .str("title", title)
                .str("referrer", pick(rng, &REFERRERS));
            page.end();
            let mut lib = c.obj("library");
            lib.str("name", "firstparty.js").str("version", "2.4.1");
            lib.end();
        }
        _ => {
            let ios = source == 3;
            let (os, version, model) = if ios {
                ("iOS", "17.4", "iPhone15,2")
            } else {
                ("Android", "14", "Pixel 8")
            };
            c.str(
                "user_agent",
                &format!("Firstparty-{os}/3.2.1 ({model}; {os} {version})"),
            );
            let mut app = c.obj("app");
            app.str("version", "5.12.0").num("build", 5120);
            app.end();
            let mut device = c.obj("device");
            device
                .str("model", model)
                .str("manufacturer", if ios { "Apple" } else { "Google" });
            device.end();
            let mut lib = c.obj("library");
            lib.str(
                "name",
                if ios {
                    "firstparty-ios"
                } else {
                    "firstparty-android"
                },
            )
            .str("version", "3.2.1");
            lib.end();
        }
    }
    c.str("locale", locale);
    c.end();
}
