"""Meridian: synthetic referral traffic of a mobile food-delivery and rides marketplace."""
