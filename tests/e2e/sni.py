#!/usr/bin/python3
"""Reads and drives a StatusNotifierItem and its dbusmenu over the session bus, from outside the process.

Used by tests/e2e/tray.sh. Commands:
  item                  print "SERVICE PATH" of the first registered item (exit 1 if none)
  prop NAME             print a property of the item (IconName, Menu, Status, Title, ...)
  layout                print the menu, one line per entry: ID<TAB>DEPTH<TAB>LABEL<TAB>ENABLED<TAB>TOGGLE<TAB>TYPE
  revision              print the layout revision
  click ID              send a dbusmenu "clicked" event to an entry
  id LABEL_REGEX        print the id of the first entry whose label matches
  icon ID FILE          write an entry's icon (the PNG of its icon-data) to FILE (exit 1 if it has none)
  subtree LABEL_REGEX   print "ID<TAB>LABEL" of the first matching entry and everything under it
  children LABEL_REGEX  print "ID<TAB>LABEL" of the direct children of the first matching entry
  open ID               send AboutToShow and an "opened" event for a submenu, as a host does before showing it
  open-all              open every submenu, until no new ones appear; prints how many
"""
import re
import sys

from gi.repository import Gio, GLib

WATCHER = "org.kde.StatusNotifierWatcher"
ITEM_IFACE = "org.kde.StatusNotifierItem"
MENU_IFACE = "com.canonical.dbusmenu"

bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)


def call(dest, path, iface, method, args=None, reply=None):
    return bus.call_sync(dest, path, iface, method, args, reply, Gio.DBusCallFlags.NONE, 5000, None).unpack()


def get_prop(dest, path, iface, name):
    return call(dest, path, "org.freedesktop.DBus.Properties", "Get", GLib.Variant("(ss)", (iface, name)))[0]


def find_item_path(dest, path="/"):
    """Walks the object tree of `dest` for an object implementing the SNI interface."""
    xml = call(dest, path, "org.freedesktop.DBus.Introspectable", "Introspect")[0]
    node = Gio.DBusNodeInfo.new_for_xml(xml)
    if any(i.name == ITEM_IFACE for i in node.interfaces):
        return path
    for child in node.nodes:
        sub = (path.rstrip("/") + "/" + child.path) if path != "/" else "/" + child.path
        found = find_item_path(dest, sub)
        if found:
            return found
    return None


def item():
    entries = get_prop(WATCHER, "/StatusNotifierWatcher", WATCHER, "RegisteredStatusNotifierItems")
    for e in entries:
        if "/" in e:
            svc, path = e.split("/", 1)
            return svc, "/" + path
        path = find_item_path(e)
        if path:
            return e, path
    return None


def menu_location():
    svc, path = item()
    return svc, get_prop(svc, path, ITEM_IFACE, "Menu")


def walk(node, depth, out):
    ident, props, children = node
    out.append((ident, depth, props))
    for c in children:
        walk(c, depth + 1, out)


def find_node(node, rx):
    """The first node (depth first) whose label matches, as (id, props, children)."""
    for c in node[2]:
        if rx.search(c[1].get("label", "")):
            return c
        found = find_node(c, rx)
        if found:
            return found
    return None


def open_submenu(ident):
    svc, menu = menu_location()
    call(svc, menu, MENU_IFACE, "AboutToShow", GLib.Variant("(i)", (ident,)))
    call(svc, menu, MENU_IFACE, "Event",
         GLib.Variant("(isvu)", (ident, "opened", GLib.Variant("i", 0), 0)))


def root():
    svc, menu = menu_location()
    return call(svc, menu, MENU_IFACE, "GetLayout", GLib.Variant("(iias)", (0, -1, [])))[1]


def layout():
    svc, menu = menu_location()
    rev, root = call(svc, menu, MENU_IFACE, "GetLayout", GLib.Variant("(iias)", (0, -1, [])))
    out = []
    for c in root[2]:
        walk(c, 0, out)
    return rev, out


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "item":
        it = item()
        if not it:
            return 1
        print(*it)
    elif cmd == "prop":
        svc, path = item()
        print(get_prop(svc, path, ITEM_IFACE, argv[2]))
    elif cmd == "revision":
        print(layout()[0])
    elif cmd == "layout":
        for ident, depth, p in layout()[1]:
            print("\t".join([
                str(ident), str(depth), p.get("label", ""),
                str(p.get("enabled", True)).lower(),
                str(p.get("toggle-state", "")), p.get("type", "standard"),
            ]))
    elif cmd == "id":
        rx = re.compile(argv[2])
        for ident, _, p in layout()[1]:
            if rx.search(p.get("label", "")):
                print(ident)
                return 0
        return 1
    elif cmd == "icon":
        for ident, _, p in layout()[1]:
            if str(ident) == argv[2] and "icon-data" in p:
                with open(argv[3], "wb") as f:
                    f.write(bytes(p["icon-data"]))
                return 0
        return 1
    elif cmd in ("subtree", "children"):
        node = find_node(root(), re.compile(argv[2]))
        if not node:
            return 1
        if cmd == "subtree":
            out = []
            walk(node, 0, out)
        else:
            out = [(c[0], 1, c[1]) for c in node[2]]
        for ident, _, p in out:
            print(f"{ident}\t{p.get('label', '')}")
    elif cmd == "open":
        open_submenu(int(argv[2]))
    elif cmd == "open-all":
        done = set()
        while True:
            _, entries = layout()
            todo = [i for i, _, p in entries if p.get("children-display") == "submenu" and i not in done]
            if not todo:
                break
            for i in todo:
                open_submenu(i)
                done.add(i)
        print(len(done))
    elif cmd == "click":
        svc, menu = menu_location()
        call(svc, menu, MENU_IFACE, "Event",
             GLib.Variant("(isvu)", (int(argv[2]), "clicked", GLib.Variant("i", 0), 0)))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (GLib.Error, TypeError) as e:
        print(f"sni.py: {e}", file=sys.stderr)
        sys.exit(1)
    except BrokenPipeError:
        # Output piped into `head`: not an error.
        sys.exit(0)
