"""The Microsoft Teams edge: Bot Framework authentication, the /api/messages route, the app
package (manifest, icons) and the Teams emulator."""
