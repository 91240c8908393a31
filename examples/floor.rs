//! The floor for this tray stack: tao + tray-icon with a static icon and a one-item menu, nothing else; BENCHMARKS.md compares Overwatch's idle footprint against it.

use tao::event::Event;
use tao::event_loop::{ControlFlow, EventLoopBuilder};
use tray_icon::menu::{Menu, MenuEvent, MenuItem};
use tray_icon::{Icon, TrayIconBuilder};

const SIZE: u32 = 32;

/// A flat green disc: a static icon, computed once.
fn icon() -> Icon {
    let mut rgba = Vec::with_capacity((SIZE * SIZE * 4) as usize);
    let c = (SIZE as f32 - 1.0) / 2.0;
    for y in 0..SIZE {
        for x in 0..SIZE {
            let (dx, dy) = (x as f32 - c, y as f32 - c);
            let inside = dx * dx + dy * dy <= c * c;
            rgba.extend_from_slice(&[40, 170, 80, if inside { 255 } else { 0 }]);
        }
    }
    Icon::from_rgba(rgba, SIZE, SIZE).expect("a valid icon")
}

fn main() {
    let event_loop = EventLoopBuilder::new().build();
    let menu = Menu::new();
    let quit = MenuItem::new("Quit", true, None);
    menu.append(&quit).expect("append the menu item");
    let quit_id = quit.id().clone();
    let mut tray = None;
    event_loop.run(move |event, _, control_flow| {
        *control_flow = ControlFlow::Wait;
        match event {
            Event::NewEvents(tao::event::StartCause::Init) => {
                tray = Some(
                    TrayIconBuilder::new()
                        .with_id("floor")
                        .with_menu(Box::new(menu.clone()))
                        .with_icon(icon())
                        .with_tooltip("floor")
                        .build()
                        .expect("build the tray icon"),
                );
            }
            _ => {
                if let Ok(e) = MenuEvent::receiver().try_recv() {
                    if e.id == quit_id {
                        tray = None;
                        *control_flow = ControlFlow::Exit;
                    }
                }
            }
        }
        let _ = &tray;
    });
}
