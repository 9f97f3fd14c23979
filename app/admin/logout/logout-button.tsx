// A sign-out button for admin pages: a plain POST form, so it works without JavaScript.
export function LogoutButton() {
  return (
    <form method="post" action="/admin/logout">
      <button type="submit" className="button">
        Log out
      </button>
    </form>
  );
}
