/// The review pages' Mustache templates and style sheet (double braces escape HTML; the layout's
/// triple-brace `body` is the rendered page, itself escaped).
enum ReviewTemplates {
    static let layout = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · Rollcall</title>
        <link rel="stylesheet" href="/review/style.css">
        </head>
        <body>
        <header><p class="brand">Rollcall · access review</p></header>
        <main id="main">
        {{{body}}}
        </main>
        </body>
        </html>
        """

    static let message = """
        <h1>{{title}}</h1>
        <p>{{text}}</p>
        """

    static let reviewer = """
        <h1>{{title}}</h1>
        <p class="summary">Signed in as <strong>{{reviewer}}</strong>. <span id="pending">{{pending}}</span> of {{total}} items wait for your decision; due {{due}}.</p>
        {{#done}}<p class="notice" role="status">{{done}}</p>{{/done}}
        {{#closed}}<p class="notice" role="status">This review is closed: no more decisions.</p>{{/closed}}
        <form method="get" action="/review" class="filters" aria-label="Filter items">
          <label for="q">Search</label>
          <input id="q" name="q" type="search" value="{{query}}" placeholder="name, id, group, department">
          <label for="show">Show</label>
          <select id="show" name="show">
            <option value="pending"{{#showPending}} selected{{/showPending}}>Waiting for a decision</option>
            <option value="decided"{{#showDecided}} selected{{/showDecided}}>Decided</option>
            <option value="all"{{#showAll}} selected{{/showAll}}>All</option>
          </select>
          <button type="submit">Filter</button>
        </form>
        <form method="post" action="/review/decide" id="decide">
          <input type="hidden" name="csrf" value="{{csrf}}">
          <table>
            <caption>Access to review: keep what the person needs for their job, revoke the rest</caption>
            <thead><tr><th scope="col">Choose</th><th scope="col">Person</th><th scope="col">Department</th><th scope="col">Access</th><th scope="col">Held</th><th scope="col">Decision</th></tr></thead>
            <tbody>
            {{#rows}}
            <tr id="item-{{id}}">
              <td>{{#open}}<input type="checkbox" name="item" value="{{id}}" id="choose-{{id}}"><label for="choose-{{id}}" class="hidden-label">Choose {{name}}, {{groupName}}</label>{{/open}}</td>
              <td>{{name}} <span class="muted">({{hrID}}{{#lifecycle}}, {{lifecycle}}{{/lifecycle}})</span></td>
              <td>{{department}}</td>
              <td><span title="{{group}}">{{groupName}}</span></td>
              <td>{{how}}</td>
              <td class="decision">{{decision}}{{#escalated}}<span class="late">overdue</span>{{/escalated}}{{#comment}}<br><span class="muted">{{comment}}</span>{{/comment}}</td>
            </tr>
            {{/rows}}
            </tbody>
          </table>
          {{#empty}}<p>No items match.</p>{{/empty}}
          {{#open}}
          <p><label for="comment">Comment (why; kept with the decision)</label><br>
          <textarea id="comment" name="comment" rows="2" cols="60" maxlength="2000"></textarea></p>
          <p class="actions">
            <button type="submit" name="decision" value="keep" id="keep">Keep chosen</button>
            <button type="submit" name="decision" value="revoke" id="revoke" class="danger">Revoke chosen</button>
          </p>
          {{/open}}
        </form>
        <form method="post" action="/review/signout"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit" class="link">Sign out</button></form>
        """

    static let admin = """
        <h1>{{title}}</h1>
        <p class="summary">Scope {{scope}}, due {{due}}, {{status}}: <strong id="decided">{{decided}}</strong> of {{total}} decided ({{percent}} %).</p>
        <progress max="100" value="{{percent}}" aria-label="Decided">{{percent}} %</progress>
        <table>
          <caption>Progress by reviewer</caption>
          <thead><tr><th scope="col">Reviewer</th><th scope="col">Items</th><th scope="col">Kept</th><th scope="col">Revoked</th><th scope="col">Pending</th><th scope="col">Escalated</th></tr></thead>
          <tbody>
          {{#rows}}<tr><th scope="row">{{reviewer}}</th><td>{{items}}</td><td>{{kept}}</td><td>{{revoked}}</td><td>{{pending}}</td><td>{{escalated}}</td></tr>{{/rows}}
          </tbody>
        </table>
        <p class="muted">Based on {{basis}}. Export: <code>rollcall review status {{campaign}} --items --csv</code></p>
        <p><a href="/review/reports">Compliance reports</a></p>
        <form method="post" action="/review/signout"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit" class="link">Sign out</button></form>
        """

    static let reports = """
        <h1>{{title}}</h1>
        <ul>
        {{#reports}}<li><a href="/review/reports/{{name}}">{{name}}</a> (<a href="/review/reports/{{name}}.csv">CSV</a>)</li>{{/reports}}
        </ul>
        <p><a href="/review/admin">Back to the review's progress</a></p>
        """

    static let report = """
        <h1>{{title}}</h1>
        <p class="summary"><strong id="count">{{count}}</strong> rows. Based on {{basis}}. <a href="/review/reports/{{name}}.csv">Download as CSV</a></p>
        {{#notes}}<p class="notice">{{note}}</p>{{/notes}}
        <table class="report">
          <caption>{{title}}</caption>
          <thead><tr>{{#columns}}<th scope="col">{{column}}</th>{{/columns}}</tr></thead>
          <tbody>
          {{#rows}}<tr>{{#cells}}<td>{{value}}</td>{{/cells}}</tr>{{/rows}}
          </tbody>
        </table>
        <p><a href="/review/reports">All reports</a></p>
        """

    static let css = """
        body { font-family: system-ui, sans-serif; margin: 0; color: #1b1f24; background: #f6f7f9; }
        header { background: #243b53; color: #fff; padding: 0.6rem 1.5rem; }
        .brand { margin: 0; font-weight: 600; }
        main { max-width: 70rem; margin: 1.5rem auto; padding: 0 1.5rem; }
        h1 { font-size: 1.5rem; }
        table { border-collapse: collapse; width: 100%; background: #fff; margin: 1rem 0; }
        caption { text-align: left; font-weight: 600; padding: 0.4rem 0; }
        th, td { border-bottom: 1px solid #d9dee4; padding: 0.45rem 0.6rem; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
        table.report { font-size: 0.85rem; }
        table.report td { min-width: 7ch; }
        thead th { white-space: nowrap; overflow-wrap: normal; }
        thead th { background: #eef1f4; }
        .muted { color: #52606d; font-size: 0.9em; }
        .notice { background: #e3f8e9; border-left: 4px solid #2f9e57; padding: 0.5rem 0.8rem; }
        .late { color: #b42318; font-weight: 600; }
        .filters { display: flex; gap: 0.5rem; align-items: center; flex-wrap: wrap; }
        .hidden-label { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
        button { font: inherit; padding: 0.4rem 0.9rem; border: 1px solid #243b53; background: #243b53; color: #fff; border-radius: 4px; cursor: pointer; }
        button.danger { background: #b42318; border-color: #b42318; }
        button.link { background: none; color: #243b53; border: none; text-decoration: underline; padding: 0; }
        button:focus, input:focus, select:focus, textarea:focus { outline: 3px solid #f0b429; outline-offset: 2px; }
        progress { width: 100%; height: 1rem; }
        """
}
