"""The Streamlit app's pages and widgets: the only part of vaeapp that imports streamlit."""
