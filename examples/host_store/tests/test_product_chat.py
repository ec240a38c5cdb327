"""A shopper asks about a tea on its page and staff answer from the console.

Run against the store being served: `pytest` (http://localhost:3000, see pytest.ini) or
`pytest --base-url URL`, from the store's directory, so the staff account made for the test
goes into the database rxconfig.py names.
"""

from playwright.sync_api import Browser, expect

from rxchat.testing import ChatWidget, StaffAccount, StaffConsole


def test_a_question_about_a_tea_gets_an_answer(
    rxchat_widget: ChatWidget, rxchat_staff: StaffAccount, browser: Browser, base_url: str
):
    shopper = rxchat_widget
    shopper.goto(f"{base_url}/item/lapsang")
    expect(shopper.page.get_by_role("heading", name="Smoky Lapsang")).to_be_visible()
    shopper.open()
    shopper.send("How smoky is it, honestly?")

    console = StaffConsole(browser.new_context().new_page(), base_url)  # staff, in a browser of their own
    console.login(rxchat_staff.email, rxchat_staff.password)
    console.open_conversation("How smoky is it, honestly?", product_id="lapsang")
    context = console.product_context()
    assert "Smoky Lapsang" in context and "$16.50" in context  # our catalog's name and price
    expect(console.page.get_by_test_id("stock-level")).to_have_text("In stock: 3")  # our console panel
    console.reply("Like a campfire, in a good way.")

    shopper.wait_for_reply("Like a campfire")
    expect(shopper.message_items("How smoky")).to_have_attribute("data-status", "read")  # staff saw it
    assert shopper.messages() == [
        ("shopper", "How smoky is it, honestly?", "read"),
        ("agent", "Like a campfire, in a good way.", None),
    ]
